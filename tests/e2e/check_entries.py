"""Fails when the ctest entries (the arguments, module.Class.method) and the test methods of the
e2e modules differ: a method left out of tests/CMakeLists.txt would never run."""
import sys
import unittest

import test_calls
import test_classroom
import test_interop

found = sorted("%s.%s.%s" % (module.__name__, case.__name__, name)
               for module, case in ((test_calls, test_calls.Calls), (test_interop, test_interop.Interop),
                                    (test_classroom, test_classroom.Classroom))
               for name in unittest.TestLoader().getTestCaseNames(case))
listed = sorted(sys.argv[1:])
if found != listed:
    print("only in the test modules:", sorted(set(found) - set(listed)))
    print("only in tests/CMakeLists.txt:", sorted(set(listed) - set(found)))
    sys.exit(1)
print("%d e2e test methods, each a ctest entry" % len(found))
