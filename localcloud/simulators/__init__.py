"""Simulators for asynchronous AWS work moto completes at once or never (ECS tasks, ...).

Convention for every simulator: the work moves through the states AWS reports, on the virtual clock
(``localcloud.clock``), and each change is put on the default event bus as the event AWS emits, so
EventBridge rules fire exactly as they would in AWS. The outcome is steered by ``LOCALCLOUD_*``
variables in the work's own environment (for ECS: the container environment), never by project code.
"""
