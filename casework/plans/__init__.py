"""Case plan: goals by domain, reviews, supervisor approval of the plan and of closure."""
