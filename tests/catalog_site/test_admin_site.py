"""The catalog's admin site: the default site, the sidebar's order, the search box in every page's header."""

import re

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.urls import reverse

from catalog_site.admin_site import CatalogAdminSite
from dcim.models import Device
from services.models import Service
from tenancy.models import Membership
from tests.dcim.factories import make_tenant

pytestmark = pytest.mark.django_db

CATALOG = reverse("admin:services_service_catalog")


def sidebar(html: str) -> list[str]:
    """The app names of the navigation sidebar (or of the index's app list), in page order."""
    return re.findall(r'<caption>\s*<a href="[^"]*" class="section"[^>]*>([^<]+)</a>', html)


@pytest.fixture
def member(django_user_model):
    user = django_user_model.objects.create_user("member", password="pw", is_staff=True)
    Membership.objects.create(user=user, tenant=make_tenant(), role="editor")
    return user


def test_the_catalog_site_is_the_default_site_and_keeps_every_registration():
    assert isinstance(admin.site, CatalogAdminSite)
    assert Service in admin.site._registry and Device in admin.site._registry
    labels = {model._meta.app_label for model in admin.site._registry}
    assert {"django_celery_beat", "services", "ipam", "dcim", "tenancy", "auth"} <= labels


def test_superuser_sidebar_starts_with_the_catalog_and_ends_with_scheduling(admin_client):
    html = admin_client.get(reverse("admin:dcim_device_changelist")).content.decode()
    names = sidebar(html)
    assert names[0] == "Service catalog"
    assert names[-1] == "Scheduling"
    assert "Periodic Tasks" not in names
    # The catalog entry is one click from every page, and leads to the catalog page.
    assert f'<a href="{CATALOG}" class="section"' in html
    assert admin_client.get(CATALOG).status_code == 200


def test_index_lists_the_same_order_and_scheduling_holds_every_periodic_task_model(admin_client, rf, admin_user):
    names = sidebar(admin_client.get(reverse("admin:index")).content.decode())
    assert names[0] == "Service catalog" and names[-1] == "Scheduling"
    request = rf.get("/admin/")
    request.user = admin_user
    apps = admin.site.get_app_list(request)
    scheduling = apps[-1]
    assert [model["object_name"] for model in scheduling["models"]] == [
        "PeriodicTask", "ClockedSchedule", "CrontabSchedule", "IntervalSchedule", "SolarSchedule"]
    assert all(app["app_label"] != "django_celery_beat" for app in apps[:-1])
    # Inventory apps keep Django's alphabetical order between the two.
    middle = [str(app["name"]) for app in apps[1:-1]]
    assert middle == sorted(middle, key=str.lower)


def test_app_index_page_of_scheduling_is_named_scheduling(admin_client):
    response = admin_client.get(reverse("admin:app_list", args=["django_celery_beat"]))
    assert response.status_code == 200
    assert [app["name"] for app in response.context["app_list"]] == ["Scheduling"]


def test_tenant_member_sees_the_catalog_but_not_scheduling(client, member):
    client.force_login(member)
    names = sidebar(client.get(reverse("admin:index")).content.decode())
    assert names[0] == "Service catalog"
    assert "Scheduling" not in names


def test_member_with_periodic_task_permission_sees_only_that_model_under_scheduling(client, member, rf):
    member.user_permissions.add(Permission.objects.get(codename="view_periodictask"))
    request = rf.get("/admin/")
    request.user = type(member).objects.get(pk=member.pk)
    apps = admin.site.get_app_list(request)
    assert apps[-1]["name"] == "Scheduling"
    assert [model["object_name"] for model in apps[-1]["models"]] == ["PeriodicTask"]


def test_staff_without_rights_gets_no_catalog_entry(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("nobody", password="pw", is_staff=True))
    html = client.get(reverse("admin:index")).content.decode()
    assert "Service catalog" not in html
    assert client.get(CATALOG).status_code == 403


def test_every_admin_page_has_the_search_box_in_its_header(admin_client):
    for url in (reverse("admin:index"), reverse("admin:ipam_prefix_changelist"), reverse("admin:ipam_prefix_add"),
                CATALOG, reverse("admin:password_change")):
        html = admin_client.get(url).content.decode()
        header = html.split('<header id="header">', 1)[1].split("</header>", 1)[0]
        assert f'action="{reverse("admin:search")}"' in header, url
        assert 'name="q"' in header, url


def test_the_login_page_has_no_search_box(client):
    html = client.get(reverse("admin:login")).content.decode()
    assert 'id="global-search"' not in html
