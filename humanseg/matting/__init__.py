"""Alpha mattes and foregrounds: green-screen keying (keying.py), foreground colour estimation (foreground.py)."""
