"""factory-boy factories: each sets only what a valid row needs."""

import factory

from accounts.models import BillingStatus, Membership, Role, User, Workspace
from entitlements.models import ConfigKind, ProductConfig
from locations.models import Location, LocationKind, LocationStatus


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    password = factory.django.Password("correct-horse-battery")


class WorkspaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Workspace

    name = factory.Sequence(lambda n: f"Studio {n}")
    billing_status = BillingStatus.TRIALING


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    workspace = factory.SubFactory(WorkspaceFactory)
    role = Role.OWNER


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location

    workspace = factory.SubFactory(WorkspaceFactory)
    location_id = factory.Sequence(lambda n: f"loc_test{n}")
    kind = LocationKind.API
    name = factory.Sequence(lambda n: f"Location {n}")
    status = LocationStatus.ACTIVE


class ProductConfigFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductConfig

    location = factory.SubFactory(LocationFactory)
    name = factory.Sequence(lambda n: f"Pack {n}")
    kind = ConfigKind.PACKAGE
    credits_total = 10
    calendar_ids = factory.LazyFunction(lambda: ["cal_pack"])


class MembershipConfigFactory(ProductConfigFactory):
    name = factory.Sequence(lambda n: f"Membership {n}")
    kind = ConfigKind.MEMBERSHIP
    credits_total = None
    monthly_credits = 4
    expiry_days = 31
    calendar_ids = factory.LazyFunction(lambda: ["cal_member"])
