"""Prints every e2e test method, one `module.Class.method` per line: tests/CMakeLists.txt makes a
ctest entry of each at configure time, so none is left out by hand."""
import glob
import importlib
import inspect
import os
import sys
import unittest

sys.dont_write_bytecode = True
here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
found = []
for path in sorted(glob.glob(os.path.join(here, "test_*.py"))):
    module = importlib.import_module(os.path.basename(path)[:-3])
    for _, case in inspect.getmembers(module, inspect.isclass):
        if issubclass(case, unittest.TestCase) and case.__module__ == module.__name__:
            found += ["%s.%s.%s" % (module.__name__, case.__name__, name)
                      for name in unittest.TestLoader().getTestCaseNames(case)]
if not found:
    sys.exit("no test methods in %s" % here)
print("\n".join(sorted(found)))
