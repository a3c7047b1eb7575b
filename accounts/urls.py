from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/signup/", views.signup, name="signup"),
    path(
        "accounts/login/",
        views.SignInView.as_view(),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password-reset/",
        views.PasswordResetView.as_view(),
        name="password_reset",
    ),
    path(
        "accounts/password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            success_url=reverse_lazy("password_reset_complete")
        ),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("accounts/workspace/", views.switch_workspace, name="switch-workspace"),
    path("accounts/invitations/", views.invitations, name="invitations"),
    path(
        "accounts/invitations/<int:membership_id>/accept/",
        views.invitation_accept,
        name="invitation-accept",
    ),
    path(
        "accounts/invitations/<int:membership_id>/decline/",
        views.invitation_decline,
        name="invitation-decline",
    ),
    path("settings/", views.settings_page, name="settings"),
    path("settings/save/", views.settings_save, name="settings-save"),
    path("settings/members/invite/", views.member_invite, name="member-invite"),
    path("settings/members/<int:membership_id>/role/", views.member_role, name="member-role"),
    path("settings/members/<int:membership_id>/remove/", views.member_remove, name="member-remove"),
]
