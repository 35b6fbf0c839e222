"""What runs, how old it is, what to plan: end-of-life data, release dates, image tags, baselines."""
