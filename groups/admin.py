from django.contrib import admin

from .models import AuditEntry, Device, VoiceprintGroup


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = ["name", "serial", "location", "created_at"]
    search_fields = ["name", "serial", "location"]


@admin.register(VoiceprintGroup)
class VoiceprintGroupAdmin(admin.ModelAdmin):
    """Read-only: groups change only through Coze, from vpadmin's own pages."""

    list_display = ["name", "coze_id", "device", "creator", "created_at"]
    list_select_related = ["device", "creator"]
    search_fields = ["name", "coze_id"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """The audit log is read-only everywhere."""

    list_display = [
        "created_at",
        "actor_username",
        "action",
        "outcome",
        "target_label",
        "coze_logid",
    ]
    list_filter = ["action", "outcome"]
    search_fields = ["coze_logid", "request_id", "target_label", "actor_username"]
    date_hierarchy = "created_at"
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
