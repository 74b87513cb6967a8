"""The JSON API (Django REST framework): the register's lists and writes for scripts, with
API tokens, through the same services, forms, FilterSets and wording as the pages."""
