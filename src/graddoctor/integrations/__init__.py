"""graddoctor.integrations: thin adapters over the one Monitor (docs/integrations.md).

Nothing here is imported by ``import graddoctor``; each module imports its optional library itself:
``distributed`` (DDP/FSDP, used by ``gd.watch`` when a process group exists), ``amp`` (GradScaler),
``core`` (pre-clip gradient capture shared by the trainer adapters), ``lightning``, ``transformers``, and
``sinks`` (TensorBoard, MLflow, wandb).
"""
