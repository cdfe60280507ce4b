"""A throw-away unit for tests: students write double(x); registered through SOFTMAX_UNITS_PATH."""
