import time, json, anthropic
import sdk_strict as sx
def test_scratch(client, make_agent, make_session):
    # parallel calls: bash ask + custom tool in one request
    agent = make_agent([[{"text":"both"},{"tool":"bash","input":{"command":"echo p"}},{"custom_tool":"lookup_order","input":{"order":"B"}},{"text":"end"}]], tools=[sx.toolset("always_ask"), sx.CUSTOM_TOOL])
    s = make_session(agent.id)
    st = sx.EventStream(client, s.id)
    sx.send(client, s.id, sx.user_message("x"))
    i, idle = st.wait_idle(timeout=30)
    print("IDLE1", idle.stop_reason, st.summary())
    evs = st.snapshot()
    cu = [e for e in evs if e.type=="agent.custom_tool_use"]
    tu = [e for e in evs if e.type=="agent.tool_use"]
    sx.send(client, s.id, {"type":"user.custom_tool_result","custom_tool_use_id":cu[0].id,"content":[{"type":"text","text":"ok"}]})
    i2, idle2 = st.wait_idle(start=i+1, timeout=10)
    print("IDLE2", idle2.stop_reason, st.summary(i+1))
    try:
        client.beta.sessions.events.send(s.id, events=[{"type":"user.custom_tool_result","custom_tool_use_id":cu[0].id}])
        print("double custom result accepted!")
    except anthropic.APIStatusError as e: print("double custom:", e.status_code, e.response.text)
    # interrupt while requires_action
    sx.send(client, s.id, {"type":"user.interrupt"})
    i3, idle3 = st.wait_idle(start=i2+1, timeout=10)
    print("IDLE3", idle3.stop_reason, st.summary(i2+1))
    st.close()
    for kw in [dict(limit=0), dict(limit=101), dict(limit=1000)]:
        try: r = client.beta.agents.list(**kw); print(kw, "ok", len(r.data))
        except anthropic.APIStatusError as e: print(kw, e.status_code, e.response.text[:200])
    r = client.beta.sessions.list(statuses=["idle"], limit=3); print("statuses ok", [x.status for x in r.data])
    r = client.beta.sessions.events.list(s.id, created_at_gte="2000-01-01T00:00:00Z"); print("created_at ok", len(r.data))
    # stream raw bytes for heartbeat
    st2 = sx.EventStream(client, s.id)
    time.sleep(16)
    print("frames idle:", [(f.event, f.data) for f in st2.frames])
    st2.close()
