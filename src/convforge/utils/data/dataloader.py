"""``torch.utils.data.dataloader``: the loader, its collate functions and worker info."""

from ...data.collate import default_collate, default_convert
from ...data.loader import DataLoader
from ...data.worker import WorkerInfo, get_worker_info

__all__ = ["DataLoader", "WorkerInfo", "default_collate", "default_convert", "get_worker_info"]
