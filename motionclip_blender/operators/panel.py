"""The "MotionCLIP" tab in the 3D View sidebar, and the cancel button's operator."""

import textwrap
from typing import TYPE_CHECKING, Any

import bpy

from . import jobs

if TYPE_CHECKING:
    from bpy.stub_internal.rna_enums import OperatorReturnItems

    from .properties import MotionClipSettings


class MOTIONCLIP_OT_cancel(bpy.types.Operator):
    """Stop the model's running work"""

    bl_idname = "motionclip.cancel"
    bl_label = "Cancel"

    job: bpy.props.IntProperty(  # type: ignore[valid-type]
        name="Job", description="The job to stop (its number); 0 stops them all", default=0
    )

    def execute(self, context: bpy.types.Context) -> "set[OperatorReturnItems]":
        if self.job:
            jobs.cancel(self.job)
        else:
            jobs.cancel_all()
        return {"FINISHED"}


class MOTIONCLIP_UL_results(bpy.types.UIList):
    def draw_item(
        self,
        context: bpy.types.Context,
        layout: bpy.types.UILayout,
        data: Any | None,
        item: Any | None,
        icon: int | None,
        active_data: Any,
        active_property: str | None,
        index: int | None,
        flt_flag: int | None,
    ) -> None:
        assert item is not None
        row = layout.row(align=True)
        row.label(text=item.name, icon="ACTION" if item.kind == "ACTION" else "FILE")
        row.label(text=f"{item.score:.2f}")
        apply = row.operator("motionclip.apply_result", text="", icon="IMPORT")
        apply.index = index or 0


class MOTIONCLIP_PT_panel(bpy.types.Panel):
    bl_label = "MotionCLIP"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "MotionCLIP"

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        assert layout is not None and context.scene is not None
        settings = context.scene.motionclip  # type: ignore[attr-defined]
        findings = context.window_manager.motionclip  # type: ignore[union-attr]
        self.draw_jobs(layout, context)
        layout.operator("motionclip.add_rig", icon="ARMATURE_DATA")
        # Where Generate, Edit and Apply Result put their new action: shown once, for all three.
        layout.prop(settings, "placement", text="New Actions")

        box = layout.box()
        box.label(text="Generate from text", icon="OUTLINER_OB_ARMATURE")
        box.prop(settings, "prompt", text="")
        row = box.row(align=True)
        row.prop(settings, "seconds")
        row.prop(settings, "seed")
        box.prop(settings, "in_place")
        generate = box.operator("motionclip.generate", icon="PLAY")
        for name in ("prompt", "seconds", "seed", "in_place", "placement"):
            setattr(generate, name, getattr(settings, name))

        box = layout.box()
        box.label(text="Find similar to the active action", icon="VIEWZOOM")
        box.prop(settings, "labels")
        box.operator("motionclip.find_similar").labels = settings.labels
        if findings.results:
            box.label(text=f"Like '{findings.query}':")
            box.template_list(
                "MOTIONCLIP_UL_results", "", findings, "results", findings, "active", rows=4
            )
        for label in findings.labels:
            box.label(text=f"{label.name}: {label.score:.2f}", icon="SMALL_CAPS")

        self.draw_blend(layout.box(), settings)

        box = layout.box()
        box.label(text="Edit the active action with text", icon="GREASEPENCIL")
        row = box.row(align=True)
        row.prop(settings, "from_text")
        row.prop(settings, "to_text")
        box.prop(settings, "strength")
        edit = box.operator("motionclip.edit")
        edit.from_text, edit.to_text = settings.from_text, settings.to_text
        edit.strength, edit.placement = settings.strength, settings.placement

    def draw_blend(self, box: bpy.types.UILayout, settings: "MotionClipSettings") -> None:
        """The blend box; the operator gets the chosen actions' names as they are now, since an
        operator cannot hold a data-block."""
        box.label(text="Blend two actions", icon="NLA")
        box.prop(settings, "action_a")
        box.prop(settings, "action_b")
        row = box.row(align=True)
        row.prop(settings, "blend_mode", expand=True)
        box.prop(settings, "weight" if settings.blend_mode == "WEIGHT" else "steps")
        blend = box.operator("motionclip.blend")
        blend.action_a = settings.action_a.name if settings.action_a else ""
        blend.action_b = settings.action_b.name if settings.action_b else ""
        blend.mode, blend.weight, blend.steps = settings.blend_mode, settings.weight, settings.steps

    def draw_jobs(self, layout: bpy.types.UILayout, context: bpy.types.Context) -> None:
        running = jobs.running()
        for job in running:
            # The work stops at its next progress report: say so at once, or Cancel seems ignored.
            cancelling = job.progress.cancel_requested.is_set()
            status = "cancelling at the next step" if cancelling else job.progress.message
            row = layout.row(align=True)
            row.progress(factor=job.progress.fraction, text=f"{job.name}: {status}")
            if not cancelling:  # each job its own button: a slow Blend need not stop a Generate
                row.operator("motionclip.cancel", text="", icon="X").job = job.number
        if sum(not job.progress.cancel_requested.is_set() for job in running) > 1:
            layout.operator("motionclip.cancel", text="Cancel All", icon="CANCEL")
        width = context.region.width if context.region is not None else 300
        scale = context.preferences.system.ui_scale if context.preferences is not None else 1.0
        for outcome in list(jobs.messages)[-2:]:
            first, *rest = message_lines(outcome.message, width, scale)
            level = outcome.level  # a cancel (WARNING) is the user's own doing, not an error
            layout.label(
                text=first,
                icon="INFO" if level == "INFO" else "CANCEL" if level == "WARNING" else "ERROR",
            )
            for line in rest:
                layout.label(text=line, icon="BLANK1")  # under the first line's text


def message_lines(message: str, width: int, ui_scale: float) -> list[str]:
    """A message cut into lines that fit a sidebar `width` pixels wide (a label does not wrap,
    so a long report would be clipped): about 7 pixels a character at UI scale 1."""
    return textwrap.wrap(message, max(20, int(width / (7 * ui_scale)))) or [""]
