"""The dashboard's pages, a module per section. Each view: permission, form, one service
call, message, then render or redirect."""
