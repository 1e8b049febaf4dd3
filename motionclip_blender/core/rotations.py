"""Batched conversions between rotation representations, in torch.

The maths is `roma`'s (a maintained, differentiable rotation library); this module fixes the
project's conventions in one place:

- axis-angle ("rotvec"): (..., 3), angle in radians times the unit axis, as AMASS stores poses;
- quaternion: (..., 4), scalar last (x, y, z, w), as roma and scipy use;
- rotation matrix: (..., 3, 3), acting on column vectors;
- 6D (Zhou et al. 2019): (..., 6), the first two columns of the matrix, first column then second;
  mapped back by Gram-Schmidt, so any 6 numbers with independent halves give a rotation.
"""

from __future__ import annotations

import roma
import torch


def axis_angle_to_matrix(rotvec: torch.Tensor) -> torch.Tensor:
    """(..., 3) axis-angle -> (..., 3, 3) rotation matrix."""
    return roma.rotvec_to_rotmat(rotvec)


def matrix_to_axis_angle(matrix: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) rotation matrix -> (..., 3) axis-angle with angle in [0, pi]."""
    return roma.rotmat_to_rotvec(matrix)


def axis_angle_to_quaternion(rotvec: torch.Tensor) -> torch.Tensor:
    """(..., 3) axis-angle -> (..., 4) unit quaternion (x, y, z, w)."""
    return roma.rotvec_to_unitquat(rotvec)


def quaternion_to_axis_angle(quat: torch.Tensor) -> torch.Tensor:
    """(..., 4) quaternion (x, y, z, w) -> (..., 3) axis-angle, shortest arc. Normalises first."""
    return roma.unitquat_to_rotvec(roma.quat_normalize(quat))


def quaternion_to_matrix(quat: torch.Tensor) -> torch.Tensor:
    """(..., 4) quaternion (x, y, z, w) -> (..., 3, 3). Normalises first."""
    return roma.unitquat_to_rotmat(roma.quat_normalize(quat))


def matrix_to_quaternion(matrix: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) -> (..., 4) unit quaternion (x, y, z, w)."""
    return roma.rotmat_to_unitquat(matrix)


def matrix_to_6d(matrix: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) -> (..., 6): first column, then second column."""
    return torch.cat([matrix[..., :, 0], matrix[..., :, 1]], dim=-1)


def sixd_to_matrix(sixd: torch.Tensor) -> torch.Tensor:
    """(..., 6) -> (..., 3, 3) by Gram-Schmidt on the two columns."""
    columns = torch.stack([sixd[..., :3], sixd[..., 3:]], dim=-1)
    return roma.special_gramschmidt(columns)


def axis_angle_to_6d(rotvec: torch.Tensor) -> torch.Tensor:
    """(..., 3) axis-angle -> (..., 6)."""
    return matrix_to_6d(axis_angle_to_matrix(rotvec))


def sixd_to_axis_angle(sixd: torch.Tensor) -> torch.Tensor:
    """(..., 6) -> (..., 3) axis-angle."""
    return matrix_to_axis_angle(sixd_to_matrix(sixd))


def quaternion_wxyz_to_xyzw(quat: torch.Tensor) -> torch.Tensor:
    """Reorder a scalar-first quaternion (w, x, y, z), as DeepMimic stores them, to (x, y, z, w)."""
    return roma.quat_wxyz_to_xyzw(quat)


def quaternion_slerp(q0: torch.Tensor, q1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation along the shortest arc, with one weight per element.

    q0, q1: (..., 4) unit quaternions (x, y, z, w); t: (...) weights, 0 gives q0 and 1 gives q1,
    broadcast against the quaternions' leading dimensions. Returns (..., 4).
    """
    relative = roma.quat_product(roma.quat_conjugation(q0), q1)
    step = roma.unitquat_to_rotvec(relative, shortest_arc=True) * t.unsqueeze(-1)
    return roma.quat_product(q0, roma.rotvec_to_unitquat(step))


def angle_between(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Geodesic angle in radians between two batches of rotation matrices (..., 3, 3) -> (...)."""
    return roma.rotmat_geodesic_distance(a, b)


def vectors_registration(x: torch.Tensor, y: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) the rotation R that minimises sum_i w_i |R x_i - y_i|^2 over vectors x, y
    (..., N, 3) with weights (..., N) (the Kabsch solution, as roma.rigid_vectors_registration).

    Written here because roma rules out reflections with torch.det, whose batched LU takes a
    hundred times longer on two threads than on one (3 ms against 0.03 ms for 300 matrices,
    most of retargeting's time); the sign of the 3x3 determinant is a triple product here.
    """
    weights = weights / weights.sum(dim=-1, keepdim=True)
    covariance = torch.einsum("...k,...ki,...kj->...ij", weights, y, x)
    left, _, right = torch.linalg.svd(covariance)
    product = left @ right
    determinant = (torch.linalg.cross(product[..., 0], product[..., 1]) * product[..., 2]).sum(-1)
    flip = torch.ones_like(left[..., 0, :])
    flip[..., 2] = torch.where(determinant < 0, -1.0, 1.0)
    return (left * flip[..., None, :]) @ right
