"""Reads of the dcim inventory that other apps share (NetBox's sites and regions over our locations)."""

from django.db.models import QuerySet

from .models import Location


def site_of(location: Location | None) -> Location | None:
    """The site ``location`` is or lies in: itself if a site, else its nearest site ancestor, else None.

    Select ``location__parent__parent`` with the rows to answer it without a query per row.
    """
    return location.site if location is not None else None


def sites() -> QuerySet[Location]:
    """Every location of kind site (NetBox's sites); restrict it to the caller as any queryset."""
    return Location.objects.filter(kind=Location.Kind.SITE)


def regions() -> QuerySet[Location]:
    """Every country and metro (NetBox's regions)."""
    return Location.objects.filter(kind__in=Location.REGION_KINDS)
