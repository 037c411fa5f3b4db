"""Form feedback learnt from good repetitions: measurements (`measures`), the reference of good form
(`profile`), cues in words (`cues`), the units judged (`units`) and poses from other tools (`layouts`)."""

from wpa.movement.form.cues import Cue, unit_cues
from wpa.movement.form.profile import FormError, FormProfile
from wpa.movement.form.units import ClipForm, RepForm, Unit, fit_profile, form_units, judge_pose, judge_units

__all__ = ["ClipForm", "Cue", "FormError", "FormProfile", "RepForm", "Unit", "fit_profile", "form_units",
           "judge_pose", "judge_units", "unit_cues"]
