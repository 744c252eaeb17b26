"""Fails when the ctest entries (the arguments, module.Class.method) and the test methods of the
e2e modules (every test_*.py here) differ: a method left out of tests/CMakeLists.txt would never
run, and an entry naming no method would run nothing."""
import glob
import importlib
import inspect
import os
import sys
import unittest

found = []
for path in sorted(glob.glob(os.path.join(os.path.dirname(os.path.abspath(__file__)), "test_*.py"))):
    module = importlib.import_module(os.path.basename(path)[:-3])
    for _, case in inspect.getmembers(module, inspect.isclass):
        if issubclass(case, unittest.TestCase) and case.__module__ == module.__name__:
            found += ["%s.%s.%s" % (module.__name__, case.__name__, name)
                      for name in unittest.TestLoader().getTestCaseNames(case)]
found.sort()
listed = sorted(sys.argv[1:])
if found != listed:
    print("only in the test modules:", sorted(set(found) - set(listed)))
    print("only in tests/CMakeLists.txt:", sorted(set(listed) - set(found)))
    sys.exit(1)
print("%d e2e test methods, each a ctest entry" % len(found))
