"""The plans service: plans, participants, goals, activities, comments, calendar, assessments."""
