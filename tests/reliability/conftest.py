from tests.ghl.conftest import pack  # noqa: F401 (fixtures)
from tests.ghl.signing import celery_eager, ghl_signer, post_ghl  # noqa: F401 (fixtures)
