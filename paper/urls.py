app_name = "paper"
urlpatterns: list = []
