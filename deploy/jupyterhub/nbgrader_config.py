"""Student-side nbgrader settings for the course on a shared JupyterHub (the Validate button, fetch, submit).

Install as the hub's global config, e.g. /etc/jupyter/nbgrader_config.py (or each student's
~/.jupyter/nbgrader_config.py). The instructor's side is the course root's nbgrader_config.py;
both name the same course and exchange, so students run `nbgrader fetch_assignment
softmax_regression` and `nbgrader submit softmax_regression` without --course (README, "JupyterHub
with nbgrader's exchange"). The exchange root must exist, writable by everyone and sticky:
`sudo install -d -m 1777 /srv/nbgrader/exchange`. Environment variables override the paths per hub.
"""

import os

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

# The course and the shared exchange (the same as the course root's nbgrader_config.py).
c.CourseDirectory.course_id = os.environ.get("SOFTMAX_COURSE_ID", "d2l-softmax")
c.Exchange.root = os.environ.get("NBGRADER_EXCHANGE_ROOT", "/srv/nbgrader/exchange")

# Validate runs the whole notebook: loading Fashion-MNIST, the visible tests and the 10-epoch
# training run (seconds on a laptop, minutes on a busy hub). nbgrader's default of 30 s per cell
# would stop the training cell and report a failure that is not the student's.
c.Execute.timeout = 900

# The kernels Validate starts read Fashion-MNIST from here (a read-only copy of the four official
# .gz files on the hub), instead of every student downloading it.
os.environ.setdefault("FASHION_MNIST_ROOT", "/srv/data/fashion-mnist")
