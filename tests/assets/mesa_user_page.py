"""A Mesa user's own SolaraViz page built only from Mesa's standard components.

The browser test serves it with the project's dependencies installed: Mesa's grid
layout, space component and plot component must all draw, offline.
"""

import mesa
from mesa.discrete_space import CellAgent, OrthogonalMooreGrid
from mesa.visualization import Slider, SolaraViz, make_plot_component, make_space_component


class Walker(CellAgent):
    """Moves to a random neighbouring cell and gives a coin to someone it meets."""

    def __init__(self, model, cell):
        super().__init__(model)
        self.cell = cell
        self.wealth = 1

    def step(self):
        self.cell = self.cell.neighborhood.select_random_cell()
        others = [a for a in self.cell.agents if a is not self]
        if self.wealth > 0 and others:
            self.random.choice(others).wealth += 1
            self.wealth -= 1


class MoneyModel(mesa.Model):
    """Mesa's Boltzmann wealth example, shortened."""

    def __init__(self, n=50, width=10, height=10, rng=None):
        super().__init__(rng=rng)
        self.grid = OrthogonalMooreGrid((width, height), torus=True, random=self.random)
        Walker.create_agents(self, n, self.random.choices(self.grid.all_cells.cells, k=n))
        self.datacollector = mesa.DataCollector(
            model_reporters={"Richest": lambda m: max(a.wealth for a in m.agents)})
        self.datacollector.collect(self)

    def step(self):
        self.agents.shuffle_do("step")
        self.datacollector.collect(self)


page = SolaraViz(
    MoneyModel(rng=1),
    components=[make_space_component(lambda a: {"color": "tab:blue", "size": 20}),
                make_plot_component("Richest")],
    model_params={"n": Slider("Number of agents", 50, 10, 100, 1), "width": 10, "height": 10},
    name="Money model",
)
