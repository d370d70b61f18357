"""Attribute kinds end to end (service layer and admin form), markdown sanitising, API permissions."""

import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from catalog_site.models import Token
from services import services
from services.admin.forms import build_service_form
from services.documentation import render_markdown
from services.models import Service
from tenancy.models import Membership

from .factories import make_service, make_site, make_tenant, order_service, served

pytestmark = pytest.mark.django_db

KINDS_TYPE = {
    "slug": "every-kind", "name": "Every kind", "attributes": [
        {"name": "vlan", "kind": "integer", "min_value": 2, "max_value": 4094, "modifier": "rw+",
         "annotations": {"web_suggested_values": {"type": "literal", "values": [100, 200]}}},
        {"name": "managed", "kind": "boolean", "modifier": "rw+", "default": False},
        {"name": "notes", "kind": "markdown", "modifier": "rw+"},
        {"name": "circuit", "kind": "text", "modifier": "rw", "required": True},
        {"name": "allocated_vlan", "kind": "integer", "modifier": "r"},
    ],
}


@pytest.fixture
def every_kind():
    return services.service_type_save(definition=KINDS_TYPE)[0]


def order(service_type, **attributes):
    return order_service(service_type=service_type, service_identifier=f"EK-{Service.objects.count()}",
                         tenant=make_tenant(), location=make_site(), attributes=attributes)


class TestKinds:
    def test_values_are_checked_by_kind(self, every_kind):
        with pytest.raises(services.ServiceValidationError) as excinfo:
            order(every_kind, vlan=5000, managed="yes", notes=12, circuit=None)
        assert excinfo.value.attribute_errors == {
            "vlan": ["Must be at most 4094."],
            "managed": ["Expected true or false, got 'yes'."],
            "notes": ["Expected text, got int."],
            "circuit": ["This attribute is required."],
        }
        with pytest.raises(services.ServiceValidationError) as excinfo:
            order(every_kind, vlan=True, circuit="C-1")
        assert excinfo.value.attribute_errors == {"vlan": ["Expected an integer, got True."]}

    def test_defaults_apply_and_values_are_stored_typed(self, every_kind):
        service = order(every_kind, vlan=100, circuit="C-1", notes="# hi")
        assert service.attributes == {"vlan": 100, "managed": False, "notes": "# hi", "circuit": "C-1"}

    def test_generator_value_must_match_its_kind(self, every_kind):
        service = order(every_kind, circuit="C-1")
        with pytest.raises(services.ServiceValidationError) as excinfo:
            services.service_set_generated_attributes(service=service, attributes={"allocated_vlan": "ten"})
        assert excinfo.value.attribute_errors == {"allocated_vlan": ["Expected an integer, got 'ten'."]}
        service = services.service_set_generated_attributes(service=service, attributes={"allocated_vlan": 1001})
        assert service.attributes["allocated_vlan"] == 1001

    def test_admin_form_fields_by_kind(self, every_kind, admin_user):
        form_class = build_service_form(every_kind, service=None, user=admin_user)
        form = form_class()
        assert 'type="number"' in str(form["attr_vlan"]) and 'list="id_attr_vlan_suggestions"' in str(form["attr_vlan"])
        assert "<select" in str(form["attr_managed"])  # unknown / yes / no
        assert "<textarea" in str(form["attr_notes"])
        assert "attr_allocated_vlan" not in form.fields  # r: not part of an order
        tenant, site = served(every_kind)
        form = form_class(data={"service_identifier": "EK-FORM", "tenant": tenant.pk,
                                "location": site.pk, "attr_vlan": "200", "attr_managed": "true",
                                "attr_notes": "", "attr_circuit": "C-9"})
        assert form.is_valid(), form.errors
        service = form.save()
        assert service.attributes == {"vlan": 200, "managed": True, "circuit": "C-9"}
        change_form = build_service_form(every_kind, service=service, user=admin_user)(instance=service)
        assert change_form.fields["attr_allocated_vlan"].disabled
        assert change_form.fields["attr_circuit"].disabled and not change_form.fields["attr_vlan"].disabled
        assert change_form["attr_vlan"].value() == 200


class TestSanitising:
    @pytest.mark.parametrize(("markdown", "forbidden"), [
        ("<script>alert(1)</script>", ["<script", "alert(1)"]),
        ('<img src="x" onerror="alert(1)">', ["onerror"]),
        ('<a href="javascript:alert(1)">x</a>', ["javascript:"]),
        ("[x](javascript:alert(1))", ["javascript:"]),
        ('<a href="JaVaScRiPt:alert(1)">x</a>', ["alert(1)"]),
        ('<p style="background:url(x)" onclick="alert(1)">x</p>', ["style", "onclick"]),
        ('<iframe src="https://evil.example"></iframe>', ["<iframe"]),
        ('<svg onload="alert(1)"><circle/></svg>', ["<svg", "onload"]),
        ('<form action="/admin/logout/"><button>x</button></form>', ["<form", "<button"]),
        ('<img src="data:text/html;base64,PHNjcmlwdD4=">', ["data:"]),
        ('<div class="mermaid" id="content-main">x</div>', ['class="mermaid"', "content-main"]),
    ])
    def test_hostile_markup_is_removed(self, markdown, forbidden):
        html = render_markdown(markdown)
        for fragment in forbidden:
            assert fragment not in html, html

    def test_formatting_survives(self):
        html = render_markdown("# Title\n\n**bold** [link](https://example.com) `code`\n\n| a |\n|---|\n| 1 |\n")
        assert "<h1>Title</h1>" in html and "<strong>bold</strong>" in html and "<code>code</code>" in html
        assert '<a href="https://example.com" rel="noopener noreferrer nofollow">link</a>' in html
        assert "<table>" in html

    def test_mermaid_block_text_stays_escaped(self):
        html = render_markdown('```mermaid\ngraph LR\n  a["<img src=x onerror=alert(1)>"] --> b\n```\n')
        assert html.startswith('<pre class="mermaid">graph LR')
        assert "&lt;img src=x onerror=alert(1)&gt;" in html and "<img" not in html

    def test_other_code_blocks_are_plain_code(self):
        html = render_markdown("```python\nprint(1)\n```\n")
        assert html.startswith("<pre><code") and "print(1)" in html and "language-python" not in html


class TestTransitionPermission:
    """A transition changes the service: it needs the editor role on the service's tenant."""

    def client_with(self, django_user_model, tenant, role):
        user = django_user_model.objects.create_user(f"user-{role or 'none'}")
        if role:
            Membership.objects.create(user=user, tenant=tenant, role=role)
        # Model permissions do not matter for a tenant's objects: roles decide.
        user.user_permissions.set(Permission.objects.filter(content_type__app_label="services"))
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.issue(user=user)[1]}")
        return client

    def test_transition_needs_the_editor_role(self, django_user_model):
        service = make_service("draft")
        body = {"to": "in-delivery", "version": 1}
        url = f"/api/services/services/{service.pk}/transition/"
        stranger = self.client_with(django_user_model, service.tenant, None)
        assert stranger.post(url, body, format="json").status_code == 404
        viewer = self.client_with(django_user_model, service.tenant, Membership.Role.VIEWER)
        assert viewer.post(url, body, format="json").status_code == 403
        service.refresh_from_db()
        assert service.status == "draft"
        editor = self.client_with(django_user_model, service.tenant, Membership.Role.EDITOR)
        response = editor.post(url, body, format="json")
        assert response.status_code == 200, response.data
        assert response.data["status"] == "in-delivery"
