"""d2l's Animator: plots training curves in a notebook, and only records them anywhere else.

In an IPython kernel each ``add`` redraws the figure and replaces the previous drawing (as d2l's
class does). Outside IPython (scripts, the grader, headless runs with the Agg backend) no figure
is made: the points are only recorded in ``X`` and ``Y``. Set ``animator.DISPLAY`` to False to
record without drawing inside a kernel too, or to True to draw outside one.
"""

from __future__ import annotations

DISPLAY = None
"""None: draw only inside an IPython kernel; True or False: always or never draw."""


def in_ipython_kernel():
    """True when running inside a Jupyter/IPython kernel that can display figures."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def use_svg_display():
    """Use the svg format to display plots in Jupyter (as d2l.use_svg_display)."""
    from matplotlib_inline import backend_inline

    backend_inline.set_matplotlib_formats("svg")


def set_axes(axes, xlabel, ylabel, xlim, ylim, xscale, yscale, legend):
    """Set the labels, limits, scales and legend of matplotlib axes (as d2l.set_axes)."""
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_xscale(xscale)
    axes.set_yscale(yscale)
    axes.set_xlim(xlim)
    axes.set_ylim(ylim)
    if legend:
        axes.legend(legend)
    axes.grid()


class Animator:
    """For plotting data in animation (d2l's Animator; records X and Y for every line)."""

    def __init__(
        self,
        xlabel=None,
        ylabel=None,
        legend=None,
        xlim=None,
        ylim=None,
        xscale="linear",
        yscale="linear",
        fmts=("-", "m--", "g-.", "r:"),
        nrows=1,
        ncols=1,
        figsize=(3.5, 2.5),
    ):
        self.legend = list(legend) if legend else []
        self.axes_config = (xlabel, ylabel, xlim, ylim, xscale, yscale, self.legend)
        self.layout = (nrows, ncols, figsize)
        self.X, self.Y, self.fmts = None, None, fmts
        self.fig, self.axes = None, None
        self.draw = in_ipython_kernel() if DISPLAY is None else bool(DISPLAY)

    def add(self, x, y):
        """Add one point to each line: y is a number or a sequence (None skips a line)."""
        if not hasattr(y, "__len__"):
            y = [y]
        n = len(y)
        if not hasattr(x, "__len__"):
            x = [x] * n
        if not self.X:
            self.X = [[] for _ in range(n)]
        if not self.Y:
            self.Y = [[] for _ in range(n)]
        for i, (a, b) in enumerate(zip(x, y, strict=False)):
            if a is not None and b is not None:
                self.X[i].append(a)
                self.Y[i].append(b)
        if self.draw:
            self.show()

    def show(self):
        """Redraw every line and display the figure in place of the previous drawing."""
        import matplotlib.pyplot as plt
        from IPython import display

        if self.fig is None:
            nrows, ncols, figsize = self.layout
            self.fig, axes = plt.subplots(nrows, ncols, figsize=figsize)
            self.axes = [axes] if nrows * ncols == 1 else list(axes.flatten())
        self.axes[0].cla()
        for x, y, fmt in zip(self.X or [], self.Y or [], self.fmts, strict=False):
            self.axes[0].plot(x, y, fmt)
        set_axes(self.axes[0], *self.axes_config)
        display.display(self.fig)
        display.clear_output(wait=True)
