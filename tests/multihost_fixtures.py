"""More compute hosts for the in-process compute tests: each a real :class:`Agent` on its
own :class:`FakeDriver` and its own ``instances/`` directory, sharing the test's catalog and
fake image and volume services (as several hosts share one cloud)."""
from __future__ import annotations

from dataclasses import dataclass, field

from compute.agent import Agent
from compute.driver import FakeDriver
from minicloud.config import Config


@dataclass
class Hosts:
    """The test's compute hosts by name (``node1`` is the fixture's own agent)."""

    env: object
    agents: dict[str, Agent] = field(default_factory=dict)

    def add(self, name: str, memory_mib: int = 65536) -> Agent:
        state = self.env.conf.state_dir
        conf = Config.load(state, environ={
            "MINICLOUD_COMPUTE_HOST": name,
            "MINICLOUD_COMPUTE_MEMORY_MIB": str(memory_mib),
            "MINICLOUD_COMPUTE_INSTANCES_PATH": str(state / f"instances-{name}")})
        agent = Agent(conf, self.env.db, FakeDriver(), lambda: self.env.images,
                      lambda: self.env.volumes)
        agent.register()
        self.agents[name] = agent
        return agent

    def work(self) -> int:
        """Run every queued task of every host; how many ran."""
        count = 0
        for agent in [self.env.agent, *self.agents.values()]:
            while (task := agent.queue.take()) is not None:
                agent.run_task(task)
                count += 1
        return count


def with_hosts(env, *names: str, memory_mib: int = 65536) -> Hosts:
    hosts = Hosts(env)
    for name in names:
        hosts.add(name, memory_mib)
    return hosts
