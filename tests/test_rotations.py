"""Round trips between every pair of rotation representations, property-based."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import roma
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from motionclip_blender.core import rotations as rot

TO_MATRIX: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "axis_angle": rot.axis_angle_to_matrix,
    "quaternion": rot.quaternion_to_matrix,
    "matrix": lambda m: m,
    "6d": rot.sixd_to_matrix,
}
FROM_MATRIX: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "axis_angle": rot.matrix_to_axis_angle,
    "quaternion": rot.matrix_to_quaternion,
    "matrix": lambda m: m,
    "6d": rot.matrix_to_6d,
}
DIRECT: dict[tuple[str, str], Callable[[torch.Tensor], torch.Tensor]] = {
    ("axis_angle", "quaternion"): rot.axis_angle_to_quaternion,
    ("quaternion", "axis_angle"): rot.quaternion_to_axis_angle,
    ("axis_angle", "6d"): rot.axis_angle_to_6d,
    ("6d", "axis_angle"): rot.sixd_to_axis_angle,
}
PAIRS = [(a, b) for a in TO_MATRIX for b in TO_MATRIX if a != b]

unit = st.floats(-1.0, 1.0, allow_nan=False)
axis = st.tuples(unit, unit, unit).filter(lambda v: sum(x * x for x in v) > 1e-3)
# Angles anywhere in [0, pi], with extra weight right at and near pi where conversions are fragile.
angle = st.one_of(
    st.floats(0.0, math.pi),
    st.floats(math.pi - 1e-3, math.pi),
    st.just(math.pi),
    st.just(0.0),
)
batch = st.lists(st.tuples(axis, angle), min_size=1, max_size=16)


def axis_angles(samples: list[tuple[tuple[float, float, float], float]]) -> torch.Tensor:
    axes = torch.tensor([a for a, _ in samples], dtype=torch.float64)
    angles = torch.tensor([t for _, t in samples], dtype=torch.float64)
    return axes / axes.norm(dim=-1, keepdim=True) * angles[:, None]


def convert(value: torch.Tensor, source: str, target: str) -> torch.Tensor:
    direct = DIRECT.get((source, target))
    if direct is not None:
        return direct(value)
    return FROM_MATRIX[target](TO_MATRIX[source](value))


@pytest.mark.parametrize(("source", "target"), PAIRS)
@settings(max_examples=60, deadline=None)
@given(samples=batch)
def test_round_trip_gives_the_same_rotation(
    source: str, target: str, samples: list[tuple[tuple[float, float, float], float]]
) -> None:
    start = FROM_MATRIX[source](rot.axis_angle_to_matrix(axis_angles(samples)))
    back = convert(convert(start, source, target), target, source)
    angle_error = rot.angle_between(TO_MATRIX[source](start), TO_MATRIX[source](back))
    assert angle_error.max() < 1e-6


@settings(max_examples=60, deadline=None)
@given(samples=batch)
def test_axis_angle_round_trip_keeps_the_vector_below_pi(
    samples: list[tuple[tuple[float, float, float], float]],
) -> None:
    start = axis_angles(samples)
    start = start[start.norm(dim=-1) < math.pi - 1e-3]
    back = rot.matrix_to_axis_angle(rot.axis_angle_to_matrix(start))
    torch.testing.assert_close(back, start, atol=1e-7, rtol=0)


def test_batched_shapes_are_kept() -> None:
    rotvec = torch.randn(2, 5, 24, 3)
    assert rot.axis_angle_to_matrix(rotvec).shape == (2, 5, 24, 3, 3)
    assert rot.axis_angle_to_quaternion(rotvec).shape == (2, 5, 24, 4)
    assert rot.axis_angle_to_6d(rotvec).shape == (2, 5, 24, 6)
    assert rot.sixd_to_axis_angle(rot.axis_angle_to_6d(rotvec)).shape == (2, 5, 24, 3)


def test_6d_is_the_first_two_columns() -> None:
    matrix = rot.axis_angle_to_matrix(torch.tensor([0.3, -1.2, 0.7]))
    sixd = rot.matrix_to_6d(matrix)
    torch.testing.assert_close(sixd[:3], matrix[:, 0])
    torch.testing.assert_close(sixd[3:], matrix[:, 1])


def test_6d_from_any_independent_columns_is_a_rotation() -> None:
    matrix = rot.sixd_to_matrix(torch.randn(100, 6, dtype=torch.float64))
    identity = torch.eye(3, dtype=torch.float64).expand(100, 3, 3)
    torch.testing.assert_close(matrix @ matrix.transpose(-1, -2), identity)
    torch.testing.assert_close(torch.linalg.det(matrix), torch.ones(100, dtype=torch.float64))


def test_slerp_halfway_is_half_the_angle() -> None:
    q0 = rot.axis_angle_to_quaternion(torch.zeros(3))
    q1 = rot.axis_angle_to_quaternion(torch.tensor([0.0, 0.0, 2.0]))
    half = rot.quaternion_to_axis_angle(rot.quaternion_slerp(q0, q1, torch.tensor(0.5)))
    torch.testing.assert_close(half, torch.tensor([0.0, 0.0, 1.0]))


def test_slerp_takes_the_shortest_arc() -> None:
    q0 = rot.axis_angle_to_quaternion(torch.tensor([0.0, 0.0, 0.1]))
    q1 = -rot.axis_angle_to_quaternion(torch.tensor([0.0, 0.0, 0.3]))  # same rotation, far sign
    mid = rot.quaternion_to_axis_angle(rot.quaternion_slerp(q0, q1, torch.tensor(0.5)))
    torch.testing.assert_close(mid, torch.tensor([0.0, 0.0, 0.2]))


def test_wxyz_reorder() -> None:
    wxyz = torch.tensor([1.0, 0.0, 0.0, 0.0])
    torch.testing.assert_close(rot.quaternion_wxyz_to_xyzw(wxyz), torch.tensor([0.0, 0, 0, 1]))


def test_vectors_registration_is_roma_s_kabsch_solution_and_never_a_reflection() -> None:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(400, 5, 3, generator=generator)
    weights = torch.rand(400, 5, generator=generator)
    turns = rot.axis_angle_to_matrix(2 * torch.randn(400, 3, generator=generator))
    y = (turns[:, None] @ x[..., None])[..., 0] + 0.5 * torch.randn(400, 5, 3, generator=generator)
    y[:100] = -x[:100]  # a point reflection of x: the best proper rotation, not the reflection
    found = rot.vectors_registration(x, y, weights)
    expected = roma.rigid_vectors_registration(x, y, weights=weights)
    torch.testing.assert_close(found, expected, atol=1e-5, rtol=0)
    torch.testing.assert_close(torch.det(found), torch.ones(400), atol=1e-5, rtol=0)
