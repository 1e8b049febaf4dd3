"""Everything that does not need Blender: skeleton, rotations, kinematics, motions and files.

Nothing in this package imports `bpy`.
"""
