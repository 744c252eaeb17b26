"""Fails when the ctest entries (the arguments) and the test methods of test_calls differ."""
import sys
import unittest

import test_calls

found = sorted(name for name in unittest.TestLoader().getTestCaseNames(test_calls.Calls))
listed = sorted(sys.argv[1:])
if found != listed:
    print("only in test_calls.py:", sorted(set(found) - set(listed)))
    print("only in tests/CMakeLists.txt:", sorted(set(listed) - set(found)))
    sys.exit(1)
print("%d e2e test methods, each a ctest entry" % len(found))
