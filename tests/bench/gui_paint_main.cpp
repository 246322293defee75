// readyscope-gui-paint: runs the timeline paint benchmark alone (gui_paint.cpp).
int gui_paint_main();

int main() { return gui_paint_main(); }
