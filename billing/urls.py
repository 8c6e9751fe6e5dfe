from django.urls import path

from billing import views

app_name = "billing"

urlpatterns = [
    path("billing", views.billing_view, name="index"),
    path("billing/cards/setup", views.card_setup_view, name="card-setup"),
    path("billing/cards", views.card_add_view, name="card-add"),
    path("billing/cards/<str:payment_method_id>/default", views.card_default_view, name="card-default"),
    path("billing/cards/<str:payment_method_id>/remove", views.card_remove_view, name="card-remove"),
    path("billing/subscription/checkout", views.checkout_view, name="checkout"),
    path("billing/subscription/cancel", views.cancel_subscription_view, name="cancel-subscription"),
]
