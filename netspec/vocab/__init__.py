"""The vocabularies: initializers, regularizers, constraints and activations."""

from .activations import ACTIVATIONS, Activation, ActivationField
from .constraints import CONSTRAINTS, Constraint, ConstraintField
from .initializers import INITIALIZERS, Initializer, InitializerField
from .regularizers import REGULARIZERS, Regularizer, RegularizerField

__all__ = [
    "ACTIVATIONS",
    "Activation",
    "ActivationField",
    "CONSTRAINTS",
    "Constraint",
    "ConstraintField",
    "INITIALIZERS",
    "Initializer",
    "InitializerField",
    "REGULARIZERS",
    "Regularizer",
    "RegularizerField",
]
