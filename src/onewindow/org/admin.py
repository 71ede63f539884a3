from django.contrib import admin

from onewindow.org.models import Department, Region, ServiceHall, Window


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "level", "parent", "is_fictional")
    list_filter = ("level", "is_fictional")
    search_fields = ("code", "name")


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "short_name", "uscc", "region", "is_active")
    list_filter = ("region", "is_active")
    search_fields = ("code", "name", "short_name", "uscc")


class WindowInline(admin.TabularInline):
    model = Window
    extra = 0
    filter_horizontal = ("departments",)


@admin.register(ServiceHall)
class ServiceHallAdmin(admin.ModelAdmin):
    list_display = ("name", "region", "managed_by", "opening_hours")
    inlines = [WindowInline]
