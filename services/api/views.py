"""Views of the services API."""

import django_filters
from django.core.exceptions import ObjectDoesNotExist
from django.db import transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers as drf_serializers
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from catalog_site.api.exceptions import Conflict, read_after_commit
from catalog_site.api.views import CatalogModelViewSet
from catalog_site.filtersets import BaseFilterSet

from .. import approvals, filtersets, revert, runs, services
from ..models import Approval, GeneratorRun, Parameter, Service
from ..selectors import catalog_entries, service_list_queryset
from . import serializers


def or_committed(read, committed):
    """``read``, answering ``committed`` if the object is gone since the commit: with Celery eager, the
    run the write queued has ended, and a decommission may have deleted the service (and its runs)."""

    def read_or_committed():
        try:
            return read()
        except ObjectDoesNotExist:
            return committed

    return read_or_committed


class ServiceDomainErrorsMixin:
    """Answers the service layer's refusals: a stale version or a refused deletion is a 409."""

    def handle_exception(self, exc):
        if isinstance(exc, services.VersionConflict):
            # Answered directly: an APIException would turn the current version into a string.
            response = Response({"detail": exc.message, "version": exc.current_version},
                                status=status.HTTP_409_CONFLICT)
            response.exception = True
            return response
        if isinstance(exc, services.DeletionRefused | runs.RunRefused):
            exc = Conflict({"detail": str(exc)})
        elif isinstance(exc, services.IllegalTransition):
            exc = drf_serializers.ValidationError({"to": exc.messages, "legal_transitions": exc.legal})
        elif isinstance(exc, services.ServiceValidationError):
            exc = drf_serializers.ValidationError(exc.api_detail())
        return super().handle_exception(exc)


class ServiceTypeViewSet(CatalogModelViewSet):
    """The catalog: service types with their attribute metadata (``/api/services/service-types/``)."""

    queryset = catalog_entries()
    serializer_class = serializers.ServiceTypeSerializer
    filterset_class = filtersets.ServiceTypeFilterSet

    def get_queryset(self):
        return catalog_entries(self.access)


class ParameterViewSet(CatalogModelViewSet):
    """Named lists of suggested values that external systems and generators keep current."""

    queryset = Parameter.objects.all()
    serializer_class = serializers.ParameterSerializer
    filterset_class = filtersets.ParameterFilterSet


class ServiceViewSet(ServiceDomainErrorsMixin, CatalogModelViewSet):
    """Services: order (POST), update with the version read (PATCH/PUT), move along the lifecycle
    (``POST /{id}/transition/``); run the generator again (``POST /{id}/reconcile/``) or see what it
    would change (``POST /{id}/plan/``); queue again the run of a service stuck in in-delivery or
    in-decommissioning, or decommission again one being deleted whose decommission failed
    (``POST /{id}/retry/``).

    DELETE: a draft or decommissioned service is deleted (204); an active or failed one is
    decommissioned first (202 with the service, now being deleted: ``deleting_since``, the
    ``catalog/decommission`` finalizer, in-decommissioning), and goes once its decommission run has
    given every resource back; ``deletion_blocked`` says why one stays (its decommission failed). One
    in-delivery is a 409."""

    queryset = service_list_queryset()
    serializer_class = serializers.ServiceSerializer
    filterset_class = filtersets.ServiceFilterSet

    def perform_destroy(self, instance) -> bool:
        self.access.check_write(instance, "delete")
        return services.service_delete(service=instance, user=self.request.user)

    def get_changeable_object(self):
        """The service of a detail action that changes it: visible (else 404), and the caller an editor."""
        service = self.get_object()
        self.access.check_write(service, "change")
        return service

    @extend_schema(request=serializers.TransitionSerializer, responses={
        200: serializers.ServiceSerializer,
        204: OpenApiResponse(description="The service was being deleted and is now decommissioned: it is deleted."),
    })
    @action(detail=True, methods=["post"])
    def transition(self, request, pk=None):
        """Request a lifecycle transition: ``{"to": "<status>", "version": <the version read>}``.

        An illegal transition is a 400 listing the legal ones; a stale version is a 409. A service
        being deleted only goes down the decommission path; reaching decommissioned by hand deletes
        it (204) unless it has other finalizers.
        """
        service = self.get_changeable_object()
        body = serializers.TransitionSerializer(data=request.data)
        body.is_valid(raise_exception=True)

        def read():
            return self.get_serializer(self.get_queryset().get(pk=service.pk)).data

        with transaction.atomic():
            updated = services.service_transition(
                service=service, to=body.validated_data["to"], version=body.validated_data["version"],
                user=request.user, message=body.validated_data.get("message", ""),
            )
            if updated.pk is None:
                return Response(status=status.HTTP_204_NO_CONTENT)
            committed = read()
        return Response(read_after_commit(or_committed(read, committed), committed), status=status.HTTP_200_OK)

    @extend_schema(request=None, responses={202: serializers.GeneratorRunSerializer})
    @action(detail=True, methods=["post"])
    def reconcile(self, request, pk=None):
        """Queue a reconcile run of an active service: its generator repairs what drifted. 202 with the run.

        With no Celery broker the run has already ended when the answer comes; otherwise follow it
        at ``/api/services/generator-runs/{id}/``. A service that is not active, or whose type has no
        generator, is a 409.
        """
        service = self.get_changeable_object()
        return self.queued_run_answer(
            lambda: runs.request_run(service=service, action=GeneratorRun.Action.RECONCILE, user=request.user))

    @extend_schema(request=None, responses={202: serializers.GeneratorRunSerializer})
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        """Queue again the run of a service left in in-delivery or in-decommissioning (its run never started,
        its message lost). 202 with the new run: a provision run in in-delivery, a decommission run in
        in-decommissioning. A service being deleted whose decommission failed is decommissioned again
        (202 with its decommission run).

        Safe whatever became of the earlier run: runs of a service are serialised, and a run that finds
        the service moved on does nothing. A service in any other status is a 409.
        """
        service = self.get_changeable_object()
        return self.queued_run_answer(lambda: runs.retry_working_run(service=service, user=request.user))

    def queued_run_answer(self, request_run) -> Response:
        """Call ``request_run`` in a transaction; 202 with the run (read again after the commit when possible)."""
        context = self.get_serializer_context()

        def read(run):
            return serializers.GeneratorRunSerializer(GeneratorRun.objects.get(pk=run.pk), context=context).data

        with transaction.atomic():
            run = request_run()
            committed = read(run)
        return Response(read_after_commit(or_committed(lambda: read(run), committed), committed),
                        status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses=serializers.GeneratorRunSerializer)
    @action(detail=True, methods=["post"])
    def plan(self, request, pk=None):
        """A dry run, computed now: the run with the ``changes`` a run would make, all rolled back."""
        service = self.get_changeable_object()
        run = runs.plan_run(service=service, user=request.user)
        return Response(serializers.GeneratorRunSerializer(run, context=self.get_serializer_context()).data)


class GeneratorRunViewSet(CatalogModelViewSet):
    """Generator runs, newest first (read-only): ``?service_id=``, ``?status=``, ``?action=``.

    A running run's ``log`` shows the lines written so far. ``POST /{id}/revert/`` reverts a succeeded
    run (``services.revert``).
    """

    queryset = GeneratorRun.objects.select_related("service", "requested_by", "reverted_by")
    serializer_class = serializers.GeneratorRunSerializer
    filterset_class = filtersets.GeneratorRunFilterSet
    http_method_names = ["get", "head", "options"]  # read-only; the revert takes POST (its own methods)

    @extend_schema(request=None, responses=serializers.GeneratorRunSerializer)
    @action(detail=True, methods=["post"], http_method_names=["post", "options"])
    def revert(self, request, pk=None):
        """Revert a succeeded run as one unit: its changes undone newest first, pool entries released or
        restored, the service moved back to where it was. 200 with the run (``reverted_at``, ``reverted_by``).

        Needs the right to change the service. A plan, a failed run or a run that changed nothing is a 400;
        a run already reverted, a later change of one of its objects (named), a later run not reverted or a
        run under way is a 409. ``{"detail": reason}`` either way; nothing is changed then.
        """
        run = self.get_object()
        self.access.check_write(run.service, "change")
        try:
            with transaction.atomic():
                revert.revert_run(run=run, user=request.user)
        except revert.RevertRefused as exc:
            return Response({"detail": exc.reason},
                            status=status.HTTP_409_CONFLICT if exc.conflict else status.HTTP_400_BAD_REQUEST)
        return Response(self.get_serializer(self.get_queryset().get(pk=run.pk)).data)


class ApprovalFilterSet(BaseFilterSet):
    """Filters of approvals: ``?status=``, ``?service_id=`` (several allowed each), ``?q=`` (the service's
    identifier, the comment)."""

    status = django_filters.MultipleChoiceFilter(choices=Approval.Status.choices)
    service_id = django_filters.ModelMultipleChoiceFilter(field_name="service", queryset=Service.objects.all())
    search_fields = ("service__service_identifier", "comment")

    class Meta:
        model = Approval
        fields = ()


# The methods of the decision routes: the viewset itself is read-only (no POST of the list).
DECISION_METHODS = ["post", "options"]


class ApprovalViewSet(CatalogModelViewSet):
    """Approvals of service deliveries, newest first: read them, and decide a pending one with
    ``POST /{id}/approve/`` or ``POST /{id}/reject/``.

    Deciding needs the ``services.approve_service`` permission (or a superuser) and the right to
    change the service; the requester cannot approve their own request (409) but may withdraw it
    (reject). A decided approval is a 409.
    """

    queryset = Approval.objects.select_related("service__service_type", "plan_run", "apply_run", "requested_by",
                                               "decided_by")
    serializer_class = serializers.ApprovalSerializer
    filterset_class = ApprovalFilterSet
    http_method_names = ["get", "head", "options"]  # read-only; the decisions take POST (DECISION_METHODS)

    def handle_exception(self, exc):
        if isinstance(exc, approvals.ApprovalRefused | services.IllegalTransition):
            exc = Conflict({"detail": " ".join(exc.messages) if hasattr(exc, "messages") else str(exc)})
        return super().handle_exception(exc)

    def decide(self, request, decide) -> Response:
        approval = self.get_object()
        body = serializers.ApprovalDecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        comment = body.validated_data.get("comment", "")

        def read():
            return self.get_serializer(self.get_queryset().get(pk=approval.pk)).data

        with transaction.atomic():
            decide(approval=approval, user=request.user, comment=comment)
            committed = read()
        return Response(read_after_commit(or_committed(read, committed), committed), status=status.HTTP_200_OK)

    @extend_schema(request=serializers.ApprovalDecisionSerializer, responses=serializers.ApprovalSerializer)
    @action(detail=True, methods=["post"], http_method_names=DECISION_METHODS)
    def approve(self, request, pk=None):
        """Approve the plan (optional ``comment``): the service goes to in-delivery and its provision run
        applies the plan, or asks for a new approval if what it would change differs. 200 with the approval."""
        return self.decide(request, approvals.approve)

    @extend_schema(request=serializers.ApprovalDecisionSerializer, responses=serializers.ApprovalSerializer)
    @action(detail=True, methods=["post"], http_method_names=DECISION_METHODS)
    def reject(self, request, pk=None):
        """Reject the plan, ``comment`` giving the reason (required): the service goes back to where it was."""
        return self.decide(request, lambda approval, user, comment: approvals.reject(
            approval=approval, user=user, reason=comment))

