"""The building blocks of every config section, shared by the core config (attrctl.config) and the sections
that method packages declare in their method.py. Cheap to import (pydantic only)."""

from __future__ import annotations

import os
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

UserPath = Annotated[str, AfterValidator(os.path.expanduser)]
"""A path, a hub id or a keyword; a leading `~` is the user's home, as in a shell."""
Probability = Annotated[float, Field(gt=0.0, le=1.0)]
PositiveInt = Annotated[int, Field(gt=0)]
PositiveFloat = Annotated[float, Field(gt=0.0)]


class Section(BaseModel):
    """Base of every config section: unknown keys are errors, attribute docstrings are the field docs."""

    model_config = ConfigDict(
        extra="forbid", use_attribute_docstrings=True, frozen=True, strict=True, allow_inf_nan=False
    )


class TrainConfig(Section):
    """Settings of the shared training loop (attrctl.training.fit)."""

    lr: float = Field(5e-5, gt=0.0)
    """AdamW learning rate (linear warm-up, then linear decay to 0)."""
    epochs: PositiveInt = 1
    """Passes over the training examples."""
    max_steps: int | None = Field(None, gt=0)
    """Optimizer steps; null: epochs x steps per epoch."""
    batch_size: PositiveInt = 8
    """Examples per micro-batch."""
    grad_accum: PositiveInt = 1
    """Micro-batches per optimizer step."""
    weight_decay: float = Field(0.0, ge=0.0)
    """AdamW weight decay."""
    warmup_steps: int = Field(0, ge=0)
    """Linear warm-up steps."""
    max_grad_norm: float = Field(1.0, ge=0.0)
    """Gradient clipping norm; 0 disables clipping."""
    checkpoint_every: PositiveInt = 10
    """Optimizer steps between checkpoints (also at every epoch end); a killed run resumes from the last one."""
