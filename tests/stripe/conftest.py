from tests.fake_stripe import fake_stripe  # noqa: F401 (fixtures)
from tests.ghl.conftest import pack  # noqa: F401 (fixtures)
from tests.ghl.signing import (  # noqa: F401 (fixtures)
    celery_eager,
    ghl_signer,
    merchant_location,
    post_ghl,
    post_stripe,
)
