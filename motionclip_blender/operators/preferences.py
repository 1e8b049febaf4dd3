"""The extension's preferences (Edit > Preferences > Add-ons > MotionCLIP)."""

import bpy

from .session import ModelSettings

# "motionclip_blender" as an add-on, "bl_ext.<repository>.motionclip_blender" as an extension.
ADDON_ID = __package__.rpartition(".")[0] if __package__ else "motionclip_blender"
# Shown under an empty Checkpoint, which loads the bundled model (weights/LICENCE.md).
BUNDLED_LICENCE = "Bundled model: non-commercial use only (CC BY-NC 4.0), see weights/LICENCE.md"


class MotionClipPreferences(bpy.types.AddonPreferences):
    bl_idname = ADDON_ID

    checkpoint: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="Checkpoint",
        description="Model file to use; empty for the model bundled with the extension",
        subtype="FILE_PATH",
    )
    clip_weights: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="CLIP Weights",
        description="OpenAI CLIP ViT-B/32 file (ViT-B-32.pt), for checkpoints in CLIP space",
        subtype="FILE_PATH",
    )
    allow_download: bpy.props.BoolProperty(  # type: ignore[valid-type]
        name="Allow Downloading CLIP Weights",
        description="Download CLIP ViT-B/32 (about 338 MB) when a CLIP-space checkpoint needs it "
        "and no file is set; only while Blender's online access is allowed",
        default=False,
    )
    device: bpy.props.EnumProperty(  # type: ignore[valid-type]
        name="Device",
        items=[("cpu", "CPU", "Run the model on the processor"), ("cuda", "CUDA", "NVIDIA GPU")],
        default="cpu",
    )
    smpl_model_folder: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="SMPL Model Folder",
        description="Folder with the licensed SMPL model files (never shipped), for an SMPL mesh",
        subtype="DIR_PATH",
    )
    library_folder: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="Motion Library",
        description="Folder of .bvh and .npz motions that Find Similar searches",
        subtype="DIR_PATH",
    )
    refine_steps: bpy.props.IntProperty(  # type: ignore[valid-type]
        name="Refine Steps",
        description="Steps refining each action's latent before Blend and Edit so that it "
        "decodes back to the action, keeping its path and pose (a few seconds on a CPU, once "
        "per action while the model stays loaded); 0 uses the encoder's latent alone: instant, "
        "but smoothed",
        default=100,  # core.reconstruction.REFINE_STEPS, not imported here: it loads torch
        min=0,
        soft_max=300,
    )

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        assert layout is not None
        layout.prop(self, "checkpoint")
        if not self.checkpoint:
            layout.label(text=BUNDLED_LICENCE, icon="INFO")
        layout.prop(self, "device")
        layout.prop(self, "library_folder")
        layout.prop(self, "refine_steps")
        layout.prop(self, "smpl_model_folder")
        box = layout.box()
        box.label(text="CLIP-space checkpoints")
        box.prop(self, "clip_weights")
        row = box.row()
        row.prop(self, "allow_download")
        if not bpy.app.online_access:
            row.enabled = False
            box.label(text="Blender's online access is off (Preferences > System)", icon="INFO")


def preferences(context: bpy.types.Context) -> MotionClipPreferences:
    """This extension's preferences."""
    assert context.preferences is not None
    addon = context.preferences.addons[ADDON_ID]
    return addon.preferences  # type: ignore[return-value]


def smpl_model_folder(context: bpy.types.Context) -> str:
    """The SMPL model folder set in the preferences, as an absolute path ('' when unset)."""
    folder = preferences(context).smpl_model_folder
    return bpy.path.abspath(folder) if folder else ""


def refine_steps(context: bpy.types.Context) -> int:
    """The steps refining an action's latent before Blend and Edit (the preferences')."""
    return int(preferences(context).refine_steps)


def model_settings(context: bpy.types.Context) -> ModelSettings:
    """What the model session needs from the preferences, read on the main thread."""
    prefs = preferences(context)
    return ModelSettings(
        checkpoint=bpy.path.abspath(prefs.checkpoint.strip()) or None,  # blank: the bundled
        clip_weights=bpy.path.abspath(prefs.clip_weights.strip()) or None,
        allow_download=bool(prefs.allow_download and bpy.app.online_access),
        device=prefs.device,
    )
