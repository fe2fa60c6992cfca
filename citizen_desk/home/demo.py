"""The front door's part of the demo: where citizens start."""
from citizen_desk.core.seed import demo_seeder


@demo_seeder(order=0)
def seed_front_door(report):
    report.add("Citizens", f"Home page (Greek):   {report.link('/')}")
    report.add("Citizens", f"Home page (English): {report.link('/?lang=en')}")
    report.add("Load balancers", f"Health check: {report.link('/api/v1/health')}")
