import pytest
from django.urls import reverse

from entitlements.models import ProductConfig
from tests.factories import LocationFactory, ProductConfigFactory

pytestmark = pytest.mark.django_db
PACKAGE = {
    "location": "loc_main",
    "name": "5-Class Pack",
    "kind": "package",
    "credits_total": "5",
    "calendar_ids": "cal_yoga, cal_pilates",
    "priority": "100",
}


def test_admin_creates_a_package_config(login, admin_user, location):
    response = login(admin_user).post(reverse("product-config-new"), PACKAGE)
    config = ProductConfig.objects.get(name="5-Class Pack")
    assert response.url == reverse("product-configs")
    assert (config.credits_total, config.calendar_ids) == (5, ["cal_yoga", "cal_pilates"])


def test_low_credits_alert_is_optional_and_saved(login, admin_user, location):
    client = login(admin_user)
    client.post(reverse("product-config-new"), {**PACKAGE, "low_credits_threshold": "2"})
    client.post(reverse("product-config-new"), {**PACKAGE, "name": "No alert"})
    assert ProductConfig.objects.get(name="5-Class Pack").low_credits_threshold == 2
    assert ProductConfig.objects.get(name="No alert").low_credits_threshold is None


def test_membership_config_keeps_its_renewal_policy(login, admin_user, location):
    login(admin_user).post(
        reverse("product-config-new"),
        {
            **PACKAGE,
            "kind": "membership",
            "credits_total": "",
            "monthly_credits": "4",
            "renewal_policy": "reset",
            "expiry_days": "31",
        },
    )
    config = ProductConfig.objects.get()
    assert (config.monthly_credits, config.renewal_policy, config.credits_total) == (
        4,
        "reset",
        None,
    )


@pytest.mark.parametrize(
    ("change", "field_message"),
    [
        ({"credits_total": ""}, "needs its number of credits"),
        ({"kind": "membership", "credits_total": ""}, "needs its credits per month"),
        ({"credits_total": "0"}, "greater than or equal to 1"),
        ({"calendar_ids": " , "}, "required"),
        ({"name": ""}, "required"),
        ({"priority": "-5"}, "greater than or equal to 0"),
        ({"expiry_days": "0"}, "greater than or equal to 1"),
        ({"ghl_price_id": "price_1"}, "needs its GHL product id"),
        ({"kind": "bundle"}, "not one of the available choices"),
        ({"location": "loc_stranger"}, "not one of the available choices"),
    ],
)
def test_config_form_shows_validation_errors(
    login, admin_user, location, stranger_location, change, field_message
):
    response = login(admin_user).post(reverse("product-config-new"), {**PACKAGE, **change})
    assert response.status_code == 400
    assert field_message in response.content.decode()
    assert not ProductConfig.objects.exists()


def test_one_active_config_per_ghl_product_per_location(login, admin_user, location):
    ProductConfigFactory(location=location, name="Existing", ghl_product_id="prod_1")
    response = login(admin_user).post(
        reverse("product-config-new"), {**PACKAGE, "ghl_product_id": "prod_1"}
    )
    assert response.status_code == 400
    assert "one active config per GHL product per location" in response.content.decode()


def test_same_ghl_product_with_a_price_id_is_allowed(login, admin_user, location):
    ProductConfigFactory(location=location, name="Existing", ghl_product_id="prod_1")
    login(admin_user).post(
        reverse("product-config-new"),
        {**PACKAGE, "ghl_product_id": "prod_1", "ghl_price_id": "price_9"},
    )
    assert ProductConfig.objects.filter(ghl_product_id="prod_1").count() == 2


def test_a_removed_configs_ghl_product_can_be_mapped_again(login, admin_user, location):
    ProductConfigFactory(location=location, name="Old", ghl_product_id="prod_1", active=False)
    response = login(admin_user).post(
        reverse("product-config-new"), {**PACKAGE, "ghl_product_id": "prod_1"}
    )
    assert response.status_code == 302


def test_editing_into_a_ghl_product_clash_is_a_form_error(login, admin_user, location, package):
    location.kind = "ghl"  # GHL ids are only on the form of a GHL location's config
    location.save()
    ProductConfigFactory(location=location, name="Other", ghl_product_id="prod_1")
    response = login(admin_user).post(
        reverse("product-config-edit", args=[package.public_id]),
        {**PACKAGE, "ghl_product_id": "prod_1"},
    )
    assert response.status_code == 400
    assert "one active config per GHL product" in response.content.decode()


def test_edit_saves_changes_but_keeps_location_and_kind(
    login, admin_user, package, stranger_location
):
    login(admin_user).post(
        reverse("product-config-edit", args=[package.public_id]),
        {
            **PACKAGE,
            "name": "Renamed",
            "kind": "membership",
            "location": "loc_stranger",
            "priority": "7",
        },
    )
    package.refresh_from_db()
    assert (package.name, package.priority) == ("Renamed", 7)
    assert (package.kind, package.location.location_id) == ("package", "loc_main")


def test_edit_form_shows_current_values(login, viewer, package):
    html = login(viewer).get(reverse("product-config-edit", args=[package.public_id]))
    assert 'value="cal_pack"' in html.content.decode()


def test_remove_is_a_soft_delete(login, admin_user, package):
    login(admin_user).post(reverse("product-config-remove", args=[package.public_id]))
    package.refresh_from_db()
    assert package.active is False
    assert package.removed_at is not None


def test_a_removed_config_cannot_be_edited(login, admin_user, package):
    package.active = False
    package.save()
    response = login(admin_user).post(
        reverse("product-config-edit", args=[package.public_id]), {**PACKAGE, "name": "Back"}
    )
    package.refresh_from_db()
    assert response.status_code == 302
    assert package.name != "Back"


def test_config_list_has_an_empty_state(login, viewer, location):
    html = login(viewer).get(reverse("product-configs")).content.decode()
    assert "No product configs yet" in html


@pytest.fixture
def ghl_location(workspace, settings):
    settings.GHL_CLIENT_ID = "0123456789abcdef01234567-kotally"
    settings.GHL_CLIENT_SECRET = "test-client-secret"
    return LocationFactory(workspace=workspace, location_id="ghl_loc_1", kind="ghl")


def test_config_form_includes_the_ghl_pickers_inside_the_form(login, admin_user, ghl_location):
    html = login(admin_user).get(reverse("product-config-new")).content.decode()
    form = html[html.index('<form method="post" class="card"') :]
    form = form[: form.index("</form>")]
    assert 'id="ghl-pickers"' in form
    assert 'data-url="/integrations/ghl/locations/__LOCATION__/pickers"' in form


def test_config_form_without_ghl_locations_has_no_pickers(login, admin_user, location):
    html = login(admin_user).get(reverse("product-config-new")).content.decode()
    assert 'id="ghl-pickers"' not in html


def test_config_form_tells_visitors_without_javascript_to_type_ids(login, admin_user, ghl_location):
    html = login(admin_user).get(reverse("product-config-new")).content.decode()
    assert "<noscript>" in html and "type the ids exactly as GoHighLevel shows them" in html


def test_typed_ghl_ids_create_a_config_without_javascript(login, admin_user, ghl_location):
    response = login(admin_user).post(
        reverse("product-config-new"),
        {**PACKAGE, "location": "ghl_loc_1", "ghl_product_id": "prod_1", "ghl_price_id": "price_1"},
    )
    config = ProductConfig.objects.get()
    assert response.status_code == 302
    assert (config.location, config.ghl_product_id, config.ghl_price_id) == (
        ghl_location,
        "prod_1",
        "price_1",
    )


def test_edit_form_shows_only_the_fields_of_its_kind_and_location(login, admin_user, package):
    form = (
        login(admin_user)
        .get(reverse("product-config-edit", args=[package.public_id]))
        .context["form"]
    )
    assert "credits_total" in form.fields
    assert not {"monthly_credits", "renewal_policy", "ghl_product_id", "stripe_price_id"} & set(
        form.fields
    )


def test_edit_without_the_hidden_fields_keeps_them(login, admin_user, package):
    package.ghl_product_id = "prod_kept"
    package.save()
    login(admin_user).post(
        reverse("product-config-edit", args=[package.public_id]),
        {"name": "Renamed", "credits_total": 12, "calendar_ids": "cal_pack", "priority": 100},
    )
    package.refresh_from_db()
    assert (package.name, package.credits_total, package.ghl_product_id) == (
        "Renamed",
        12,
        "prod_kept",
    )
