"""Alpha mattes and foregrounds: green-screen keying (keying.py)."""
