"""A Vega-Lite chart widget that keeps its drawing and swaps only the data each month.

Solara's own Altair widget draws a new chart whenever its specification changes,
after a 100 ms pause, which for six charts takes about half a second per month in
the browser. ``LiveVegaLite`` sends the specification once; every month only its
data sets and headline travel, and the browser applies them to the chart already
drawn (Vega's changesets). The browser side is ``experiments/vue/live_vega.vue``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ipyvuetify
import solara
import traitlets

from experiments.view_charts import LiveChart

TEMPLATE = Path(__file__).with_name("vue") / "live_vega.vue"


class LiveVegaLite(ipyvuetify.VuetifyTemplate):
    """The widget: ``spec`` draws the chart; ``datasets`` and ``headline`` update it.

    (``data`` would be the natural name, but ipyvue's templates use it for their own.)

    ``revision`` (any integer, for example the month) is shown as the chart's
    ``data-revision`` attribute once the browser has drawn it.
    """

    template_file = str(TEMPLATE)
    spec = traitlets.Dict().tag(sync=True)
    datasets = traitlets.Dict().tag(sync=True)
    headline = traitlets.Unicode("").tag(sync=True)
    revision = traitlets.Int(0).tag(sync=True)


@solara.component
def LiveChartView(chart: LiveChart, revision: int = 0) -> Any:
    """Show ``chart``; a later call with new data updates the same drawing."""
    return LiveVegaLite.element(spec=chart.spec, datasets=chart.data, headline=chart.headline,
                                revision=int(revision))
