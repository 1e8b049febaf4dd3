"""A mannequin body built from the skeleton, for users without the licensed SMPL mesh.

One ellipsoid per bone, lying along the bone, every vertex bound to that bone alone: a clear,
rigid wooden-mannequin look that shows the pose exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .kinematics import global_rotations
from .motion import Motion
from .rig import Y_UP_TO_Z_UP, Armature

SEGMENTS = 12  # around each ellipsoid
RINGS = 8  # from one end to the other

# Radius of each bone's ellipsoid (metres); others get DEFAULT_RADIUS.
RADII = {
    "pelvis": 0.11,
    "spine1": 0.11,
    "spine2": 0.12,
    "spine3": 0.12,
    "neck": 0.05,
    "head": 0.095,
    "left_collar": 0.05,
    "right_collar": 0.05,
    "left_hip": 0.075,
    "right_hip": 0.075,
    "left_knee": 0.055,
    "right_knee": 0.055,
    "left_ankle": 0.045,
    "right_ankle": 0.045,
    "left_foot": 0.03,
    "right_foot": 0.03,
    "left_shoulder": 0.05,
    "right_shoulder": 0.05,
    "left_elbow": 0.04,
    "right_elbow": 0.04,
}
DEFAULT_RADIUS = 0.035


@dataclass(frozen=True)
class Mesh:
    """A body skinned to the SMPL armature.

    vertices: (V, 3) in armature space (the rest pose); faces: vertex-index tuples (triangles,
    quads); weights: (V, 24) skinning weight of each vertex for each SMPL joint's bone.
    """

    vertices: torch.Tensor
    faces: list[tuple[int, ...]]
    weights: torch.Tensor


def mannequin_mesh(armature: Armature) -> Mesh:
    """An ellipsoid per bone, from its head to its tail, in the armature's rest pose."""
    vertices: list[torch.Tensor] = []
    faces: list[tuple[int, ...]] = []
    bones: list[torch.Tensor] = []
    sphere, sphere_faces = unit_sphere()
    for index, name in enumerate(armature.names):
        head, tail = armature.heads[index], armature.tails[index]
        half_length = 0.5 * float((tail - head).norm())
        radius = RADII.get(name, DEFAULT_RADIUS)
        # Ellipsoids reach a little past both joints so neighbouring parts overlap at the joints.
        scale = torch.tensor([radius, half_length + 0.3 * radius, radius], dtype=head.dtype)
        local = sphere.to(head.dtype) * scale
        placed = (head + tail) / 2 + local @ armature.matrices[index].T
        offset = sum(int(v.shape[0]) for v in vertices)
        vertices.append(placed)
        faces.extend(tuple(offset + i for i in face) for face in sphere_faces)
        bones.append(torch.full((len(placed),), index, dtype=torch.long))
    weights = torch.nn.functional.one_hot(torch.cat(bones), len(armature.names))
    return Mesh(torch.cat(vertices), faces, weights.to(armature.heads.dtype))


def unit_sphere() -> tuple[torch.Tensor, list[tuple[int, ...]]]:
    """A UV sphere of radius 1 with its poles on the Y axis (the bone axis)."""
    polar = torch.linspace(0, torch.pi, RINGS + 1)[1:-1]
    around = torch.arange(SEGMENTS) * (2 * torch.pi / SEGMENTS)
    ring_points = torch.stack(
        [
            polar.sin()[:, None] * around.cos()[None],
            polar.cos()[:, None].expand(-1, SEGMENTS),
            polar.sin()[:, None] * around.sin()[None],
        ],
        dim=-1,
    ).reshape(-1, 3)
    top, bottom = len(ring_points), len(ring_points) + 1
    points = torch.cat([ring_points, torch.tensor([[0.0, 1.0, 0.0], [0.0, -1.0, 0.0]])])
    faces: list[tuple[int, ...]] = []
    for ring in range(RINGS - 2):
        for step in range(SEGMENTS):
            a = ring * SEGMENTS + step
            b = ring * SEGMENTS + (step + 1) % SEGMENTS
            faces.append((a, b, b + SEGMENTS, a + SEGMENTS))
    last = (RINGS - 2) * SEGMENTS
    for step in range(SEGMENTS):
        following = (step + 1) % SEGMENTS
        faces.append((top, following, step))
        faces.append((bottom, last + step, last + following))
    return points, faces


def posed_vertices(mesh: Mesh, armature: Armature, motion: Motion) -> torch.Tensor:
    """(T, V, 3) world positions of the mesh's vertices following the motion, by linear blend
    skinning with mesh.weights (rigid parts for the mannequin, whose weights are one-hot).

    A vertex bound to one bone moves as v = joint(t) + G(t) C^T (v_rest - head), where G(t) is the
    bone's world orientation and C maps SMPL's Y-up body frame to the armature's Z-up rest frame.
    """
    dtype = armature.heads.dtype
    change = Y_UP_TO_Z_UP.to(dtype)
    orientations = global_rotations(motion.rotation_matrices().to(dtype))  # (T, 24, 3, 3)
    joints = motion.joints().to(dtype)  # (T, 24, 3)
    offsets = (mesh.vertices.to(dtype)[:, None] - armature.heads[None]) @ change  # (V, 24, 3)
    per_bone = joints[:, None] + torch.einsum("tjab,vjb->tvja", orientations, offsets)
    return torch.einsum("tvja,vj->tva", per_bone, mesh.weights.to(dtype))
