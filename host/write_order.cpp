#include "host/write_order.hpp"

namespace hailer {

bool DeferredSends::broadcast(std::span<const SessionId> to, SharedText text) {
  HAILER_ASSERT(text != nullptr);
  held_.push_back(Send{std::vector<SessionId>(to.begin(), to.end()), std::move(text)});
  return held_.size() == 1;
}

void DeferredSends::text(SessionId to, SharedText text) {
  HAILER_ASSERT(holding() && text != nullptr);
  held_.push_back(Send{std::vector<SessionId>{to}, std::move(text)});
}

}  // namespace hailer
