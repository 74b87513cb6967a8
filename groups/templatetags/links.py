"""Links of list rows, made cheaply: a pattern reversed once, not once a row (a list of 50
rows holds a few hundred links), and a row's several links joined in Python."""

from django import template
from django.utils.html import format_html_join

from vpadmin.lists import url_of_id

register = template.Library()


@register.filter
def links(pairs, separator):
    """{{ row.devices|links:comma }}: each (url, text) pair as a link, joined by
    `separator` (escaped)."""
    return format_html_join(separator, '<a href="{}">{}</a>', pairs)


@register.filter
def url_of(pk, name):
    """{{ e.device_id|url_of:"device_detail" }}: as {% url "device_detail" e.device_id %}."""
    return url_of_id(name)(pk)
