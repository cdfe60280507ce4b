"""The concise softmax-regression unit (d2l 3.7 and the gradient by hand): declarations in unit.py."""
