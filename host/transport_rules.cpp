#include "host/transport_rules.hpp"

#include "protocol/codec.hpp"

namespace hailer {

std::string tls_required_line() {
  ErrorReply reply;
  reply.code = ErrorCode::tls_required;
  reply.message = std::string(default_message(ErrorCode::tls_required));
  return encode(ServerMessage{reply}) + "\n";
}

}  // namespace hailer
