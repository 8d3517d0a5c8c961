"""What a search reads of its tenant besides the rows, memoised per tenant and encoder version: the version's
confidence calibrator, the threshold for each query shape and the requirement policy. Four to five queries and a
JSON parse a search saved; jobmatch_site/generations.py says why a memo is never used after a change, and the
apps' `ready()` which writes bump it."""

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from jobmatch_site.generations import Memo
from tenants.models import Tenant

from ..ml.confidence import Calibrator
from ..models import EncoderVersion, RequirementPolicy
from .calibration import Threshold, threshold_for
from .confidence import confidence_calibrator
from .encoding import encoder_for
from .requirements import policy_for as requirement_policy_for

SHAPES = ("text", "record")
_memo = Memo()


@dataclass(frozen=True)
class SearchSettings:
    calibrator: Calibrator | None
    thresholds: dict[str, Threshold | None]  # by query shape
    policy: RequirementPolicy  # read only: shared by the searches of this process


def search_settings(*, tenant: Tenant, version: EncoderVersion) -> SearchSettings:
    def load() -> SearchSettings:
        return SearchSettings(
            calibrator=confidence_calibrator(version),
            thresholds={shape: threshold_for(tenant=tenant, version=version, shape=shape) for shape in SHAPES},
            policy=requirement_policy_for(tenant=tenant),
        )

    return _memo.get(tenant_id=tenant.id, key=(tenant.id, version.id, version.artifact_path), load=load)


def title_vector(*, version: EncoderVersion, title: str) -> np.ndarray:
    """A record's title encoded, for rule triggering (services/search.py). A title's vector under one version never
    changes, so it is kept by its text: a repeated record search encodes nothing."""
    return _title_vector(version.id, version.artifact_path, title, version)


@lru_cache(maxsize=4096)  # 384 float32s each: ~6 MB at most
def _title_vector(version_id: int, artifact: str, title: str, version: EncoderVersion) -> np.ndarray:
    vector = encoder_for(version).encode([title])[0][0]
    vector.flags.writeable = False  # shared by every caller
    return vector
