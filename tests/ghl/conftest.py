import pytest

from tests.ghl.signing import celery_eager, ghl_signer, post_ghl  # noqa: F401 (fixtures)


@pytest.fixture
def pack(package):
    """The cast's 10-credit package, mapped to GHL product prod_pack10 (calendar cal_pack)."""
    package.ghl_product_id = "prod_pack10"
    package.save()
    return package
