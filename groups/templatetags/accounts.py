"""The Coze account of a row, by its id, from the names every page may read (one query,
and only when a page shows an account: context_processors.coze)."""

from django import template

register = template.Library()


@register.filter
def account_name(account_id, names):
    """{{ row.account_id|account_name:account_names }}: the account's name ("" if none)."""
    if not account_id:
        return ""
    return names.get(account_id, "")
