"""Not a test module: starts a thread when imported, which makes a process unsafe to fork."""

import threading

threading.Thread(target=threading.Event().wait, name="held", daemon=True).start()
