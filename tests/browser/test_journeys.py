"""What people do in vpadmin, in a real Chromium against a live server and the simulator."""

import re

from playwright.sync_api import expect

from groups.models import AuditEntry, Device, VoiceprintGroup


def test_an_anonymous_visit_is_sent_to_sign_in_and_comes_back(page, make_user):
    make_user("olga", "Operator")

    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    expect(page.get_by_role("heading", name="Sign in to vpadmin")).to_be_visible()

    page.get_by_label("Username").fill("olga")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("correct username and password")

    page.get_by_label("Password").fill("pw-olga")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()
    expect(page.locator(".who")).to_contain_text("olga")


def test_an_operator_adds_a_device_then_a_group_for_it(page, sign_in, make_user, coze_sim):
    sign_in(make_user("olga", "Operator"))

    page.goto("/devices/")
    page.get_by_role("link", name="Add a device").click()
    page.get_by_label("Name").fill("客厅音箱")
    page.get_by_label("Serial").fill("SPK-LR-0001")
    page.get_by_label("Location").fill("北京 · 客厅")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="客厅音箱")).to_be_visible()
    device = Device.objects.get(serial="SPK-LR-0001")

    page.get_by_role("link", name="Create a group for this device").click()
    expect(page).to_have_url(re.compile(rf"/groups/new/\?device={device.pk}$"))
    expect(page.get_by_label("Device")).to_have_value(str(device.pk))
    page.get_by_label("Name").fill("家庭成员")
    page.get_by_label("Description").fill("Family, living room")
    page.get_by_role("button", name="Create on Coze").click()

    group = VoiceprintGroup.objects.get()
    assert group.logid and group.coze_id in coze_sim.groups
    expect(page.get_by_role("status")).to_contain_text(
        f"Voiceprint group “家庭成员” created on Coze (logid {group.logid})"
    )
    expect(page.get_by_role("heading", name="家庭成员")).to_be_visible()

    page.get_by_role("link", name="客厅音箱").first.click()
    groups_table = page.locator("section", has_text="Voiceprint groups").locator("table")
    expect(groups_table.get_by_role("row", name=re.compile("家庭成员"))).to_contain_text(
        group.coze_id
    )

    page.get_by_role("link", name="Audit log", exact=True).click()
    row = page.get_by_role("row", name=re.compile("create group"))
    expect(row).to_contain_text("olga")
    expect(row).to_contain_text("success")
    expect(row).to_contain_text(f"logid {group.logid}")


def test_a_coze_refusal_shows_code_msg_and_logid_and_keeps_the_input(
    page, sign_in, make_user, coze_sim
):
    sign_in(make_user("olga", "Operator"))
    device = Device.objects.create(name="Front desk kiosk", serial="KSK-0042")
    coze_sim.add_fault("code", code=4101, msg="The token has no permission for this call")

    page.goto(f"/groups/new/?device={device.pk}")
    page.get_by_label("Name").fill("Reception staff")
    page.get_by_label("Description").fill("Day shift")
    page.get_by_role("button", name="Create on Coze").click()

    logid = AuditEntry.objects.get(action="group.create").coze_logid
    assert logid
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Coze did not create the group")
    expect(alert).to_contain_text("The token has no permission for this call")
    expect(alert).to_contain_text("code 4101")
    expect(alert).to_contain_text(f"logid {logid}")
    expect(page.get_by_label("Name")).to_have_value("Reception staff")
    expect(page.get_by_label("Description")).to_have_value("Day shift")
    expect(page.get_by_label("Device")).to_have_value(str(device.pk))
    assert not VoiceprintGroup.objects.exists()


def test_the_dashboard_warns_from_80_percent_and_says_when_the_quota_is_full(
    page, sign_in, make_user, settings
):
    settings.COZE_GROUP_QUOTA = 5
    sign_in(make_user("olga", "Operator"))
    for n in range(4):
        VoiceprintGroup.objects.create(coze_id=f"74{n}", name=f"group {n}")

    page.goto("/")
    gauge = page.locator(".gauge")
    expect(gauge).to_contain_text("4 / 5 groups · 80%")
    expect(gauge).to_contain_text("Above 80%")
    expect(gauge).to_have_class(re.compile(r"\bwarning\b"))

    VoiceprintGroup.objects.create(coze_id="745", name="group 5")
    page.reload()
    expect(gauge).to_contain_text("5 / 5 groups · 100%")
    expect(gauge).to_contain_text("Full: no group can be created")
    expect(gauge).to_have_class(re.compile(r"\bfull\b"))

    page.get_by_role("link", name="Create a voiceprint group").click()
    expect(page.get_by_role("alert")).to_contain_text("The quota is full")


def test_an_administrator_syncs_then_assigns_an_imported_group(
    page, sign_in, make_user, coze_sim, run_jobs
):
    sign_in(make_user("ada", "Administrator"))
    Device.objects.create(name="车载语音助手", serial="CAR-7781-A")
    coze_sim.seed_groups(3)

    page.goto("/groups/")
    page.get_by_role("button", name="Sync with Coze").click()
    expect(page).to_have_url(re.compile(r"/jobs/[0-9a-f-]+/$"))
    state = page.locator("#job-state")
    expect(state).to_contain_text("queued")
    run_jobs()  # the worker's part; the page shows it without being reloaded
    expect(state).to_contain_text("Synced with Coze: 3 imported")

    page.get_by_role("link", name="Assign the imported groups to devices").click()
    expect(page).to_have_url(re.compile(r"/groups/\?device=none$"))
    expect(page.get_by_role("link", name="Assign", exact=True)).to_have_count(3)
    page.get_by_role("row", name=re.compile("remote group 2")).get_by_role(
        "link", name="Assign"
    ).click()
    page.get_by_label("Device").select_option(label="车载语音助手 (CAR-7781-A)")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_role("heading", name="remote group 2")).to_be_visible()
    expect(page.locator(".facts")).to_contain_text("车载语音助手")
    page.goto("/groups/?device=none")
    expect(page.get_by_role("link", name="Assign", exact=True)).to_have_count(2)


def test_the_header_switcher_turns_the_pages_chinese(page, sign_in, make_user):
    sign_in(make_user("vera", "Viewer"))

    page.goto("/devices/")
    expect(page.get_by_role("heading", name="Devices")).to_be_visible()
    page.get_by_label("Language").select_option("zh-hans")
    page.get_by_role("button", name="Switch").click()

    expect(page).to_have_url(re.compile(r"/devices/$"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    nav = page.get_by_role("navigation")
    for word in ("仪表盘", "设备", "审计日志", "配额"):
        expect(nav).to_contain_text(word)
    page.get_by_role("link", name="仪表盘").click()
    expect(page.get_by_role("heading", name="仪表盘", exact=True)).to_be_visible()


def test_the_switcher_works_on_the_sign_in_page_before_signing_in(page, make_user):
    make_user("vera", "Viewer")

    page.goto("/accounts/login/?next=/devices/")
    page.get_by_label("Language").select_option("zh-hans")
    page.get_by_role("button", name="Switch").click()

    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/devices/$"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("heading", name="登录 vpadmin")).to_be_visible()
    page.get_by_label("用户名").fill("vera")
    page.get_by_label("密码").fill("pw-vera")
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(re.compile(r"/devices/$"))
    expect(page.get_by_role("heading", name="设备")).to_be_visible()


def test_guessing_her_password_elsewhere_does_not_keep_the_owner_out(page, make_user):
    from django.test import Client

    make_user("vera", "Viewer")

    def sign_in_here(password):
        page.goto("/accounts/login/")
        page.get_by_label("Username").fill("vera")
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()

    sign_in_here("pw-vera")
    expect(page.locator(".who")).to_contain_text("vera")
    page.locator(".who").get_by_role("button", name="Sign out").click()
    for n in range(1, 6):  # someone else, from five addresses
        Client(REMOTE_ADDR=f"203.0.113.{n}").post(
            "/accounts/login/", {"username": "vera", "password": f"guess-{n}"}
        )
    assert AuditEntry.objects.filter(action="auth.locked").count() == 1

    sign_in_here("pw-vera")
    expect(page.locator(".who")).to_contain_text("vera")


def test_a_person_changes_their_password_from_the_header(page, sign_in, make_user):
    sign_in(make_user("olga", "Operator"))
    page.goto("/devices/")
    page.get_by_role("link", name="Change password").click()
    page.get_by_label("Old password").fill("pw-olga")
    page.get_by_label("New password confirmation").fill("Copper-Kettle-93")
    page.get_by_label(re.compile(r"^New password\b(?! confirmation)")).fill("Copper-Kettle-93")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("status")).to_contain_text("Your password is changed.")
    entry = AuditEntry.objects.get(action="account.password")
    assert (entry.outcome, entry.actor_username) == ("success", "olga")
